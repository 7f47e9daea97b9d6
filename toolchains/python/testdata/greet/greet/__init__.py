"""A package for nua's Python toolchain tests."""


def hello():
    return "hello from greet"


def main():
    print(hello())
