package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"zhifu/payment"
)

// The API keys of the JSON API (Authorization: Bearer) are made, listed and
// revoked here, on the database of zhifu serve. The database keeps only
// each key's hash: the secret is printed once, by create.

func apikeyCommand() *command {
	return &command{
		name:    "apikey",
		summary: "create, list and revoke the API keys that callers of the JSON API present",
		sub: []*command{
			{name: "create", summary: "make a new API key and print its secret, once", run: runAPIKeyCreate},
			{name: "list", summary: "list the API keys: ids, names, when made and revoked (never secrets)", run: runAPIKeyList},
			{name: "revoke", summary: "revoke an API key: requests presenting it are refused from then on", run: runAPIKeyRevoke},
		},
	}
}

// apikeyUses are the settings zhifu apikey reads: the database alone.
var apikeyUses = []string{"database"}

// apikeyDatabaseHelp ends the help of every apikey command.
const apikeyDatabaseHelp = `
The database is zhifu serve's, found as zhifu serve finds it: --database,
$ZHIFU_DATABASE (use it when the URL holds a password) or "database" in
the config file (--config or $ZHIFU_CONFIG); default ./zhifu.db. Opening
it applies any migrations not applied yet, as zhifu serve does. A SQLite
file that does not exist (the wrong directory?) is refused by list and
revoke, and created by create, which says so. The other settings of the
config file are not used.`

const apikeyCreateHelp = `
Usage: zhifu apikey create --name NAME [--database DSN] [--config FILE]

Makes a new API key for a caller of the JSON API and prints its id and its
secret. The secret is shown this once: the database keeps only its SHA-256
hash, so it cannot be shown again. Give it to the caller, who sends it as
"Authorization: Bearer <secret>". A lost secret is replaced by creating a
new key and revoking the old one.
` + apikeyDatabaseHelp

const apikeyListHelp = `
Usage: zhifu apikey list [--database DSN] [--config FILE]

Lists every API key, revoked ones too, oldest first: its id, its name, the
prefix its secret starts with (to tell which key a secret is), when it was
made and when it was revoked. Secrets are never shown: the database does
not have them. Times are UTC.
` + apikeyDatabaseHelp

const apikeyRevokeHelp = `
Usage: zhifu apikey revoke [--database DSN] [--config FILE] ID

Revokes the API key with the id ID (as zhifu apikey list shows it): from
then on, requests presenting its secret are refused (401). A revoked key
stays in the list, marked revoked; it cannot be made valid again. Revoking
an unknown key, or one revoked already, fails with exit status 1.
` + apikeyDatabaseHelp

// newAPIKeyFlags returns the flags of the apikey command named path:
// --config and --database.
func newAPIKeyFlags(path, help string) *serveFlags {
	return newSettingFlags(path, help, apikeyUses)
}

// openAPIKeys loads the database setting as zhifu serve does and opens
// it, applying its migrations. A SQLite file that does not exist is
// created only when create is set (with a note on stderr), and refused
// otherwise. On failure it reports to stderr and ok is false; otherwise
// call close when done.
func openAPIKeys(ctx context.Context, s *streams, f *serveFlags, create bool) (keys payment.APIKeyStore, close func(), ok bool) {
	cfg, warnings, err := loadSharedConfig(s, f, apikeyUses, (*checker).checkDatabase)
	if err != nil {
		fmt.Fprintf(s.stderr, "%s: %v\n", f.path, err)
		return nil, nil, false
	}
	for _, w := range warnings {
		fmt.Fprintf(s.stderr, "%s: warning: %s\n", f.path, w)
	}
	if err := missingDatabase(cfg.Database); err != nil {
		if !create {
			fmt.Fprintf(s.stderr, "%s: %v\n", f.path, err)
			return nil, nil, false
		}
		fmt.Fprintf(s.stderr, "%s: note: creating the SQLite database %s: zhifu serve must use this one (--database, $ZHIFU_DATABASE or \"database\" in its config file) for the key to work\n", f.path, cfg.Database)
	}
	db, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		fmt.Fprintf(s.stderr, "%s: opening the %s database %s: %v\n", f.path, dbKind(cfg.Database), cfg.Database, err)
		return nil, nil, false
	}
	return db.store, func() { db.close() }, true
}

func runAPIKeyCreate(ctx context.Context, s *streams, args []string) int {
	f := newAPIKeyFlags("zhifu apikey create", apikeyCreateHelp)
	name := f.String("name", "", "the key's `NAME`, saying what it is for, such as \"shop backend\": 1 to 100 characters (required; command line only)")
	if code, done := f.parse(s, args); done {
		return code
	}
	*name = strings.TrimSpace(*name)
	if *name == "" {
		return f.usageError(s, "--name is required: say what the key is for, such as --name \"shop backend\"")
	}
	// Checked before the database is opened: a bad name changes nothing.
	secret, key, err := payment.NewAPIKey(*name)
	if err != nil {
		return f.usageError(s, "--name: %d characters or fewer, without control characters (tabs, line breaks)", payment.MaxAPIKeyNameLen)
	}
	keys, closeDB, ok := openAPIKeys(ctx, s, f, true)
	if !ok {
		return exitFail
	}
	defer closeDB()
	if err := keys.CreateAPIKey(ctx, &key); err != nil {
		fmt.Fprintf(s.stderr, "%s: storing the key: %v\n", f.path, err)
		return exitFail
	}
	fmt.Fprintf(s.stdout, "Created API key %s (%s).\n\n  %s\n\n", key.ID, strconv.Quote(key.Name), secret)
	fmt.Fprintf(s.stdout, "This is the key's secret, shown this once: copy it now. It cannot be shown again,\n"+
		"because the database keeps only its hash. Callers send it as \"Authorization: Bearer <secret>\".\n"+
		"If it is lost, create another key and revoke this one: zhifu apikey revoke %s\n", key.ID)
	return exitOK
}

func runAPIKeyList(ctx context.Context, s *streams, args []string) int {
	f := newAPIKeyFlags("zhifu apikey list", apikeyListHelp)
	if code, done := f.parse(s, args); done {
		return code
	}
	keys, closeDB, ok := openAPIKeys(ctx, s, f, false)
	if !ok {
		return exitFail
	}
	defer closeDB()
	list, err := keys.ListAPIKeys(ctx)
	if err != nil {
		fmt.Fprintf(s.stderr, "%s: %v\n", f.path, err)
		return exitFail
	}
	if len(list) == 0 {
		fmt.Fprintf(s.stdout, "No API keys yet: make one with zhifu apikey create --name NAME\n")
		return exitOK
	}
	printAPIKeys(s.stdout, list)
	return exitOK
}

// printAPIKeys writes keys as a table: id, name, prefix, created, revoked.
func printAPIKeys(w io.Writer, keys []payment.APIKey) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tCREATED\tREVOKED")
	for _, k := range keys {
		revoked := "-"
		if k.Revoked() {
			revoked = formatKeyTime(k.RevokedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, strconv.Quote(k.Name), payment.APIKeyPrefix+k.ID+"_…", formatKeyTime(k.CreatedAt), revoked)
	}
	tw.Flush()
}

// formatKeyTime writes a time of a key in UTC, to the second.
func formatKeyTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func runAPIKeyRevoke(ctx context.Context, s *streams, args []string) int {
	f := newAPIKeyFlags("zhifu apikey revoke", apikeyRevokeHelp)
	ids, code, done := parseWithArgs(s, f.flagSet, args)
	if done {
		return code
	}
	switch {
	case len(ids) == 0:
		return f.usageError(s, "name the key to revoke by its id: zhifu apikey revoke ID (zhifu apikey list shows the ids)")
	case len(ids) > 1:
		return f.usageError(s, "one key at a time: got %d arguments", len(ids))
	}
	id := ids[0]
	if strings.HasPrefix(id, payment.APIKeyPrefix) {
		// Never repeated: it may be the secret itself.
		return f.usageError(s, "that looks like a key's secret, not its id: give the id (16 characters, as zhifu apikey list shows it), and treat the secret you pasted as exposed")
	}
	keys, closeDB, ok := openAPIKeys(ctx, s, f, false)
	if !ok {
		return exitFail
	}
	defer closeDB()
	key, err := keys.GetAPIKey(ctx, id)
	if err == nil && !key.Revoked() {
		err = keys.RevokeAPIKey(ctx, id, time.Time{})
		if errors.Is(err, payment.ErrRevoked) {
			if k, gerr := keys.GetAPIKey(ctx, id); gerr == nil {
				key = k // revoked meanwhile by someone else: say when
			}
		}
	}
	switch {
	case errors.Is(err, payment.ErrNotFound):
		fmt.Fprintf(s.stderr, "%s: no API key has the id %s: zhifu apikey list shows the ids\n", f.path, strconv.Quote(id))
		return exitFail
	case err == nil && key.Revoked(), errors.Is(err, payment.ErrRevoked):
		fmt.Fprintf(s.stderr, "%s: the API key %s (%s) was revoked already, at %s: nothing changed\n", f.path, key.ID, strconv.Quote(key.Name), formatKeyTime(key.RevokedAt))
		return exitFail
	case err != nil:
		fmt.Fprintf(s.stderr, "%s: %v\n", f.path, err)
		return exitFail
	}
	fmt.Fprintf(s.stdout, "Revoked the API key %s (%s): requests presenting its secret are refused from now on.\n", key.ID, strconv.Quote(key.Name))
	return exitOK
}

// parseWithArgs parses args with f, taking positional arguments among the
// flags (ID --database x as well as --database x ID), which are returned.
// When done is true the command must return code at once: --help was
// printed (0), or the command line was wrong (2).
func parseWithArgs(s *streams, f *flagSet, args []string) (positional []string, code int, done bool) {
	for {
		err := f.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			f.printHelp(s.stdout)
			return nil, exitOK, true
		case err != nil:
			return nil, f.usageError(s, "%v", err), true
		}
		if f.NArg() == 0 {
			return positional, exitOK, false
		}
		rest := f.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			// After "--" everything is positional.
			return append(positional, rest...), exitOK, false
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
