print("fsm")
