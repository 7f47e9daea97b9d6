// Package excerpt shortens text quoted back in a message: user input echoed
// in an error, a tool's output cited when it failed. Without a bound, one
// bad argument or a megabyte of compiler output would become the message.
package excerpt

import "unicode/utf8"

// Max is the most bytes of the original text an excerpt keeps.
const Max = 80

// Of returns s when it is at most Max bytes long, else its first Max bytes,
// less a multi-byte character the cut would split, followed by "...".
func Of(s string) string { return Within(s, Max) }

// Within is Of with n bytes in place of Max: for a longer quote, such as
// the details of an event in the audit trail.
func Within(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for i := n; i > n-utf8.UTFMax && i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			cut = i
			break
		}
	}
	return s[:cut] + "..."
}
