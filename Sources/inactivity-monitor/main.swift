import FunctionSupport

await Functions.monitor(.inactivity)
