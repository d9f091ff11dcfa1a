package sandbox

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps the sandbox usable in anyone's tests: it imports the
// standard library and zhifu/alipay, nothing else.
func TestImports(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if imp != "zhifu/alipay" && (strings.Contains(first, ".") || first == "zhifu") {
			t.Errorf("package sandbox imports %q; it may use only the standard library and zhifu/alipay", imp)
		}
	}
}
