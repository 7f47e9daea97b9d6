//go:build !unix

package srcfile

const noFollow = 0
