package cputime_test

import (
	"os"
	"path/filepath"
	"testing"

	"zhifu/internal/cputime"
)

// TestStartProfile checks that the profile is written under its name
// only when ZHIFU_BENCH_PROFILE names a directory.
func TestStartProfile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(cputime.ProfileEnv, "")
	stop, err := cputime.StartProfile("none")
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(cputime.ProfileEnv, dir)
	if stop, err = cputime.StartProfile("span"); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || files[0].Name() != "span.pprof" {
		t.Fatalf("the directory holds %v, want span.pprof only", files)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "span.pprof")); fi.Size() == 0 {
		t.Fatal("span.pprof is empty")
	}
	t.Setenv(cputime.ProfileEnv, filepath.Join(dir, "missing"))
	if _, err := cputime.StartProfile("x"); err == nil {
		t.Fatal("a profile in a missing directory started, want an error")
	}
}
