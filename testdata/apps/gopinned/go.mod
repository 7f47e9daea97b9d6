module example.com/gopinned

go 1.25

toolchain go1.25.5
