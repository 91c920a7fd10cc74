print("SignalHandler")
