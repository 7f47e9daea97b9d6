print("unreachable: nua does not build Pipfile apps yet")
