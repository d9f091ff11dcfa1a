package alipay

import (
	"go/build"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the SDK importable on its own: package
// alipay may import nothing outside the standard library, and nothing of
// zhifu's.
func TestStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") || first == "zhifu" {
			t.Errorf("package alipay imports %q; it may use only the standard library", imp)
		}
	}
}
