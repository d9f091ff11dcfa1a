package storetest

import (
	"testing"
	"testing/fstest"
)

func TestCheckMigrations(t *testing.T) {
	t.Parallel()
	file := &fstest.MapFile{Data: []byte("-- +goose Up\n")}
	for _, tt := range []struct {
		name  string
		files []string
		ok    bool
	}{
		{"one", []string{"0001_init.sql"}, true},
		{"three", []string{"0001_init.sql", "0002_refunds.sql", "0003_more.sql"}, true},
		{"none", nil, false},
		{"gap", []string{"0001_init.sql", "0003_more.sql"}, false},
		{"repeat", []string{"0001_init.sql", "0001_again.sql"}, false},
		{"from two", []string{"0002_init.sql"}, false},
		{"bad name", []string{"0001_init.sql", "notes.txt"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{}
			for _, f := range tt.files {
				fsys[f] = file
			}
			if err := checkMigrations(fsys); (err == nil) != tt.ok {
				t.Fatalf("checkMigrations(%v) = %v, want ok %v", tt.files, err, tt.ok)
			}
		})
	}
}
