package httpapi

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// adminHashPrefix starts a password hash made by AdminHashPassword.
const adminHashPrefix = "pbkdf2-sha256$"

// Parameters of AdminHashPassword and the hashes it accepts.
const (
	adminHashIterations    = 600_000 // OWASP's 2023 advice for PBKDF2-HMAC-SHA256
	adminHashMinIterations = 100_000
	adminHashMaxIterations = 10_000_000
	adminHashSaltLen       = 16
	adminHashKeyLen        = 32
	adminMinPasswordLen    = 8
)

// adminPassword checks the operator's password, in constant time.
type adminPassword struct {
	// plain is the SHA-256 of a clear password, or nil for a hash.
	plain []byte
	// salt, iterations and key are the PBKDF2 hash's.
	salt       []byte
	iterations int
	key        []byte
}

// AdminHashPassword returns a hash of password for AdminConfig.Password,
// so that the configuration need not hold the password itself:
// "pbkdf2-sha256$<iterations>$<salt>$<key>", PBKDF2 with HMAC-SHA256 and
// a random salt, in unpadded base64url. The password must have at least 8
// characters.
func AdminHashPassword(password string) (string, error) {
	if err := adminCheckPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, adminHashSaltLen)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, adminHashIterations, adminHashKeyLen)
	if err != nil {
		return "", fmt.Errorf("httpapi: hashing the admin password: %w", err)
	}
	enc := base64.RawURLEncoding
	return fmt.Sprintf("%s%d$%s$%s", adminHashPrefix, adminHashIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// adminCheckPassword refuses a clear password too short to be one.
func adminCheckPassword(password string) error {
	if utf8.RuneCountInString(password) < adminMinPasswordLen {
		return fmt.Errorf("httpapi: the admin password is too short: want at least %d characters", adminMinPasswordLen)
	}
	return nil
}

// adminParsePassword reads AdminConfig.Password: a hash made by
// AdminHashPassword, or a clear password. The errors never repeat it.
func adminParsePassword(s string) (adminPassword, error) {
	if !strings.HasPrefix(s, adminHashPrefix) {
		if err := adminCheckPassword(s); err != nil {
			return adminPassword{}, err
		}
		sum := sha256.Sum256([]byte(s))
		return adminPassword{plain: sum[:]}, nil
	}
	bad := func(why string) (adminPassword, error) {
		return adminPassword{}, fmt.Errorf("httpapi: the admin password hash is malformed (%s): make one with AdminHashPassword", why)
	}
	parts := strings.Split(strings.TrimPrefix(s, adminHashPrefix), "$")
	if len(parts) != 3 {
		return bad("want pbkdf2-sha256$<iterations>$<salt>$<key>")
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < adminHashMinIterations || n > adminHashMaxIterations || parts[0] != strconv.Itoa(n) {
		return bad(fmt.Sprintf("iterations: want a number from %d to %d", adminHashMinIterations, adminHashMaxIterations))
	}
	enc := base64.RawURLEncoding
	salt, err := enc.DecodeString(parts[1])
	if err != nil || len(salt) < 8 {
		return bad("salt: want at least 8 bytes in unpadded base64url")
	}
	key, err := enc.DecodeString(parts[2])
	if err != nil || len(key) != adminHashKeyLen {
		return bad(fmt.Sprintf("key: want %d bytes in unpadded base64url", adminHashKeyLen))
	}
	return adminPassword{salt: salt, iterations: n, key: key}, nil
}

// match reports whether password is the operator's, comparing in
// constant time.
func (p adminPassword) match(password string) bool {
	if p.plain != nil {
		sum := sha256.Sum256([]byte(password))
		return subtle.ConstantTimeCompare(sum[:], p.plain) == 1
	}
	key, err := pbkdf2.Key(sha256.New, password, p.salt, p.iterations, len(p.key))
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(key, p.key) == 1
}
