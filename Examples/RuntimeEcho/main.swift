print("RuntimeEcho")
