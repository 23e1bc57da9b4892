import FunctionSupport

await Functions.registryCleaner()
