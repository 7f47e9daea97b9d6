//go:build unix

package srcfile

import "syscall"

// noFollow makes opening a file that became a symlink after it was checked
// fail rather than follow the link.
const noFollow = syscall.O_NOFOLLOW
