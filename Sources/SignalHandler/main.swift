import HandlerCore

CacheEventHandler.run(name: "SignalHandler") { store in SignalFunction(store: store) }
