import FunctionSupport

await Functions.monitor(.passwordExpiry)
