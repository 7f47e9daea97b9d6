// Package appname holds the one rule for an app's name, shared by the
// domain (nua), the process supervisor (procman) and the proxy (proxy).
//
// An app name is a DNS label, because it becomes a host name (APP.domain),
// a directory, a log file prefix and a repository name: 1 to 63 characters,
// lowercase letters, digits and dashes, starting with a letter and not
// ending with a dash.
package appname

// MaxLen is the longest app name: the length limit of a DNS label.
const MaxLen = 63

// Valid reports whether name follows the app-name rule.
func Valid(name string) bool {
	if len(name) == 0 || len(name) > MaxLen {
		return false
	}
	if name[0] < 'a' || name[0] > 'z' || name[len(name)-1] == '-' {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ValidType reports whether typ can name one of an app's process types,
// as a Procfile line, app.json's formation and ps:scale give them: one or
// more letters, digits, dashes and underscores. It names log files and
// cgroups, so nothing else may pass.
func ValidType(typ string) bool {
	if typ == "" {
		return false
	}
	for i := 0; i < len(typ); i++ {
		c := typ[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}
