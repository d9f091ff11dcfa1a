package payment

import (
	"context"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// Pinger is the optional interface of a store that can say whether it is
// ready to serve: its database answers and has every migration the
// program knows applied. Both stores implement it; a readiness probe
// asks it.
type Pinger interface {
	// Ping returns nil when the store is ready, or an error saying why
	// not.
	Ping(ctx context.Context) error
}

// LatestMigration returns the highest version among the migration files
// of fsys, named NNNN_name.sql as the stores' are: the version a database
// must be at for the program to use it.
func LatestMigration(fsys fs.FS) (int64, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return 0, fmt.Errorf("payment: migrations: %w", err)
	}
	var latest int64
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return 0, fmt.Errorf("payment: migration %q: want NNNN_name.sql", e.Name())
		}
		latest = max(latest, n)
	}
	if latest == 0 {
		return 0, fmt.Errorf("payment: no migrations")
	}
	return latest, nil
}
