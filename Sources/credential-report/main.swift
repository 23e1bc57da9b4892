import FunctionSupport

await Functions.credentialReport()
