// Package version compares the dotted version numbers toolchains read from
// pin files and tool output.
package version

// ComparePrefix compares the numbers of a and b as far as b goes, so a pin
// "3.1" matches any 3.1.x: -1 if a is older, 1 if newer, 0 if they match.
// Numbers missing from a count as 0.
func ComparePrefix(a, b []int) int {
	for i := range b {
		x := 0
		if i < len(a) {
			x = a[i]
		}
		if x != b[i] {
			if x < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
