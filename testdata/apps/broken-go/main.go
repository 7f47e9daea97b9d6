// Command broken does not compile: nua's tests check that the compiler's
// message reaches the pusher.
package main

import "fmt"

func main() {
	var port int = "5000"
	fmt.Println(port)
}
