package cli

import (
	"errors"
	"fmt"
	"os"
	"slices"
)

// Other commands read zhifu serve's configuration too: zhifu apikey its
// database, zhifu reconcile its app, keys, gateway and database. They take
// the same config file, environment and flags, so that one configuration
// serves them all, and define only the flags of the settings they read.

// newSettingFlags defines, on the flag set of the command named path
// ("zhifu reconcile") whose help is help, --config and a flag for each of
// the settings keys, in serveSettings' order; nil keys stands for every
// setting of zhifu serve. Secrets get no flag whatever keys says.
func newSettingFlags(path, help string, keys []string) *serveFlags {
	f := &serveFlags{flagSet: newFlagSet(path, help), values: map[string]*string{}}
	f.config = f.String("config", "", "read settings from the JSON `FILE` (see docs/configuration.md); env "+configEnv)
	for _, st := range serveSettings {
		if st.secret || (keys != nil && !slices.Contains(keys, st.key)) {
			continue
		}
		f.values[st.key] = f.String(st.flagName(), st.def, fmt.Sprintf("%s; env %s", st.help, st.envName()))
	}
	return f
}

// loadSharedConfig makes zhifu serve's configuration for another command
// from the config file, the environment and f's flags (parsed already),
// as zhifu serve does, and checks it with checks (the checker's methods
// for what the command uses, such as (*checker).checkDatabase).
//
// Only the problems of the settings in uses are reported, with those of
// the config file itself (unreadable, not JSON, an unknown key): a
// command that needs the database alone must not fail on a key file it
// never reads, nor on a webhook secret set only where zhifu serve runs.
// The error is a configError listing every problem.
func loadSharedConfig(s *streams, f *serveFlags, uses []string, checks ...func(*checker)) (*serveConfig, []string, error) {
	raw, probs := f.gather(s.getenv)
	cfg, more := buildServeConfig(s, raw)
	probs = append(probs, more...)
	k := &checker{c: cfg}
	for _, check := range checks {
		check(k)
	}
	probs = append(probs, k.problems...)
	var kept []problem
	for _, p := range probs {
		if _, known := lookupSetting(p.field); !known || slices.Contains(uses, p.field) {
			kept = append(kept, p)
		}
	}
	if len(kept) > 0 {
		return nil, nil, configError(kept)
	}
	return cfg, k.warnings, nil
}

// missingDatabase returns an error when d is a SQLite file that does
// not exist: opening it would create an empty database, and a command
// run in the wrong directory would list no keys, or find every line of a
// bill missing, instead of saying it is looking in the wrong place.
func missingDatabase(d dsn) error {
	if d.isPostgres() {
		return nil
	}
	if _, err := os.Stat(string(d)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the SQLite database %s does not exist (zhifu serve creates it): point %s at zhifu serve's database", d, howToSet("database"))
	}
	return nil
}
