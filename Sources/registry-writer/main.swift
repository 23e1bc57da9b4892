import FunctionSupport

await Functions.registryWriter()
