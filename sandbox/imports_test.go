package sandbox

import (
	"go/build"
	"strings"
	"testing"
)

// TestImports keeps the sandbox usable in anyone's tests: it imports the
// standard library and zhifu/alipay, the Go team's GBK encoder for the
// bill files (Alipay's bills are GBK; the standard library has no GBK) and
// one QR-code library (DESIGN.md), itself without dependencies.
func TestImports(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if imp != "zhifu/alipay" && imp != "golang.org/x/text/encoding/simplifiedchinese" && imp != "github.com/skip2/go-qrcode" && (strings.Contains(first, ".") || first == "zhifu") {
			t.Errorf("package sandbox imports %q; it may use only the standard library, zhifu/alipay, x/text's GBK and go-qrcode", imp)
		}
	}
}
