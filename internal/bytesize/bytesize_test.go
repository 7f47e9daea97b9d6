package bytesize_test

import (
	"testing"

	"github.com/nua-paas/nua/internal/bytesize"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0 = an error
	}{
		{"1G", 1 << 30}, {"100K", 100 << 10}, {"512M", 512 << 20}, {"1536", 1536},
		{"2GiB", 2 << 30}, {"10MB", 10 << 20}, {"64k", 64 << 10}, {"1024G", 1 << 40},
		{"", 0}, {"0", 0}, {"-1G", 0}, {"+5", 0}, {"1.5G", 0}, {"G", 0}, {"1T", 0}, {"1025G", 0}, {"99999999999999999999", 0},
	}
	for _, tt := range tests {
		got, err := bytesize.Parse(tt.in)
		if tt.want == 0 && err == nil || tt.want != 0 && (err != nil || got != tt.want) {
			t.Errorf("Parse(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, n := range []int64{1 << 30, 100 << 10, 1536, 3 << 20} {
		if got, err := bytesize.Parse(bytesize.Format(n)); err != nil || got != n {
			t.Errorf("Parse(Format(%d)) = %d, %v", n, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1G", "100K", "1536", "2GiB", "-1", "1.5M", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := bytesize.Parse(s)
		if err != nil {
			return
		}
		if n < 1 || n > 1<<40 {
			t.Fatalf("Parse(%q) = %d, out of 1..1 TiB", s, n)
		}
		if back, err := bytesize.Parse(bytesize.Format(n)); err != nil || back != n {
			t.Fatalf("Format(%d) = %q reads back as %d, %v", n, bytesize.Format(n), back, err)
		}
	})
}
