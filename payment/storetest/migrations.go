package storetest

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"testing"
)

// CheckMigrations checks a store's migrations, the files of fsys: every
// file is NNNN_name.sql, numbered from 0001 with no gap and no number
// used twice, as goose and the house rules want.
func CheckMigrations(t *testing.T, fsys fs.FS) {
	t.Helper()
	if err := checkMigrations(fsys); err != nil {
		t.Fatal(err)
	}
}

// checkMigrations implements CheckMigrations.
func checkMigrations(fsys fs.FS) error {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return err
	}
	name := regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)
	want := 1
	for _, e := range entries { // ReadDir sorts by name
		m := name.FindStringSubmatch(e.Name())
		if m == nil {
			return fmt.Errorf("migration %q: want NNNN_name.sql", e.Name())
		}
		n, _ := strconv.Atoi(m[1])
		if n != want {
			return fmt.Errorf("migration %q: number %04d, want %04d (no gaps, no repeats)", e.Name(), n, want)
		}
		want++
	}
	if want == 1 {
		return fmt.Errorf("no migrations")
	}
	return nil
}
