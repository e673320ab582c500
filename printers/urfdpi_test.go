package printers

import (
	"slices"
	"testing"
)

func TestURFDPI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   []string
		want []int
	}{
		{[]string{"V1.4", "CP1", "W8", "RS300-600", "SRGB24"}, []int{300, 600}},
		{[]string{"RS300"}, []int{300}},
		{[]string{"V1.4", "RSx"}, nil},
		{nil, nil},
	} {
		if got := urfDPI(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("urfDPI(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
