package alipay

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// aesVectors is testdata/aes.json, produced with the official Node SDK (see
// testdata/VECTORS.md).
type aesVectors struct {
	KeyBase64 string `json:"key_base64"`
	KeyHex    string `json:"key_hex"`
	Request   struct {
		Plaintext  string `json:"biz_content_plaintext"`
		Ciphertext string `json:"biz_content_ciphertext"`
	} `json:"request"`
	Response struct {
		Plaintext  string `json:"plaintext_node"`
		Ciphertext string `json:"ciphertext"`
	} `json:"response"`
}

func aesTestVectors(t testing.TB) (*aesVectors, []byte) {
	t.Helper()
	var v aesVectors
	if err := json.Unmarshal(certTestRead(t, "aes.json"), &v); err != nil {
		t.Fatal(err)
	}
	key, err := hex.DecodeString(v.KeyHex)
	if err != nil {
		t.Fatal(err)
	}
	if v.Request.Ciphertext == "" || v.Response.Ciphertext == "" {
		t.Fatal("aes.json: missing ciphertext")
	}
	return &v, key
}

func TestParseAESKey(t *testing.T) {
	t.Parallel()
	v, want := aesTestVectors(t)
	for _, in := range []string{v.KeyBase64, " " + v.KeyBase64 + "\r\n", "\t" + v.KeyBase64} {
		key, err := ParseAESKey(in)
		if err != nil {
			t.Fatalf("ParseAESKey(%q): %v", in, err)
		}
		if !bytes.Equal(key, want) {
			t.Errorf("ParseAESKey(%q) = %x, want %x", in, key, want)
		}
	}
	for _, n := range []int{24, 32} {
		in := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, n))
		key, err := ParseAESKey(in)
		if err != nil || len(key) != n {
			t.Errorf("ParseAESKey(%d bytes) = %x, %v", n, key, err)
		}
	}
}

func TestParseAESKeyErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "AES key is 0 bytes, want 16 (AES-128), 24 or 32"},
		{"15 bytes", base64.StdEncoding.EncodeToString(make([]byte, 15)), "AES key is 15 bytes, want 16"},
		{"17 bytes", base64.StdEncoding.EncodeToString(make([]byte, 17)), "AES key is 17 bytes"},
		{"not base64", "not a key!", "AES key is not standard base64"},
		{"unpadded", "AAECAwQFBgcICQoLDA0ODw", "AES key is not standard base64"},
		{"URL alphabet", "-_ECAwQFBgcICQoLDA0ODw==", "AES key is not standard base64"},
		{"inner space", "AAECAwQFBgcI CQoLDA0ODw==", "AES key is not standard base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, err := ParseAESKey(tt.in)
			if err == nil {
				t.Fatalf("got key %x, want an error", key)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "alipay: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want one starting with \"alipay: \" and containing %q", msg, tt.want)
			}
			if tt.in != "" && strings.Contains(msg, tt.in) {
				t.Errorf("error %q repeats the key", msg)
			}
		})
	}
}

func TestEncryptContentVector(t *testing.T) {
	t.Parallel()
	v, key := aesTestVectors(t)
	for _, c := range []struct{ name, plaintext, ciphertext string }{
		{"request", v.Request.Plaintext, v.Request.Ciphertext},
		{"response", v.Response.Plaintext, v.Response.Ciphertext},
	} {
		got, err := EncryptContent(key, []byte(c.plaintext))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.ciphertext {
			t.Errorf("%s: EncryptContent =\n%s\nwant\n%s", c.name, got, c.ciphertext)
		}
	}
}

func TestDecryptContentVector(t *testing.T) {
	t.Parallel()
	v, key := aesTestVectors(t)
	for _, c := range []struct{ name, plaintext, ciphertext string }{
		{"request", v.Request.Plaintext, v.Request.Ciphertext},
		{"response", v.Response.Plaintext, v.Response.Ciphertext},
	} {
		got, err := DecryptContent(key, c.ciphertext)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if string(got) != c.plaintext {
			t.Errorf("%s: DecryptContent =\n%s\nwant\n%s", c.name, got, c.plaintext)
		}
	}
}

func TestContentRoundTrip(t *testing.T) {
	t.Parallel()
	for _, keyLen := range []int{16, 24, 32} {
		key := make([]byte, keyLen)
		for i := range key {
			key[i] = byte(i * 7)
		}
		for n := 0; n <= 3*aes.BlockSize; n++ {
			pt := bytes.Repeat([]byte("支"), n)[:n]
			ct, err := EncryptContent(key, pt)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.StdEncoding.DecodeString(ct)
			if want := (n/aes.BlockSize + 1) * aes.BlockSize; len(raw) != want {
				t.Errorf("key %d, plaintext %d: ciphertext %d bytes, want %d", keyLen, n, len(raw), want)
			}
			got, err := DecryptContent(key, ct)
			if err != nil {
				t.Fatalf("key %d, plaintext %d: %v", keyLen, n, err)
			}
			if !bytes.Equal(got, pt) {
				t.Errorf("key %d, plaintext %d: round trip gave %x", keyLen, n, got)
			}
		}
	}
}

// aesTestRawEncrypt encrypts buf, whose length is a multiple of the block
// size, without adding padding.
func aesTestRawEncrypt(t testing.TB, key, buf []byte) string {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(buf))
	cipher.NewCBCEncrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(out, buf)
	return base64.StdEncoding.EncodeToString(out)
}

func TestDecryptContentErrors(t *testing.T) {
	t.Parallel()
	v, key := aesTestVectors(t)
	ct := v.Request.Ciphertext
	wrongKey := bytes.Repeat([]byte{0x42}, 16)
	// Flip the low bits that the final base64 character holds beyond the
	// last byte: the same bytes, spelled differently.
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	nonCanonical := short[:len(short)-3] + "B=="
	pad := func(tail ...byte) []byte {
		b := bytes.Repeat([]byte{'x'}, 32-len(tail))
		return append(b, tail...)
	}
	tests := []struct {
		name string
		key  []byte
		in   string
		want string
	}{
		{"nil key", nil, ct, "AES key is 0 bytes"},
		{"short key", key[:15], ct, "AES key is 15 bytes"},
		{"empty", key, "", "AES ciphertext is 0 bytes, want a non-zero multiple of 16"},
		{"15 bytes", key, base64.StdEncoding.EncodeToString(make([]byte, 15)), "AES ciphertext is 15 bytes"},
		{"33 bytes", key, base64.StdEncoding.EncodeToString(make([]byte, 33)), "AES ciphertext is 33 bytes"},
		{"not base64", key, "G7PYcjyAquhKW/Z/*mtCC1NUmZfFGXC4", "not standard base64"},
		{"unpadded", key, strings.TrimRight(short, "="), "not standard base64"},
		{"non-canonical", key, nonCanonical, "not standard base64"},
		{"URL alphabet", key, strings.NewReplacer("+", "-", "/", "_").Replace(ct), "not standard base64"},
		{"line break", key, ct[:20] + "\n" + ct[20:], "line break"},
		{"CR", key, ct + "\r", "line break"},
		{"space", key, " " + ct, "not standard base64"},
		{"wrong key", wrongKey, ct, "invalid padding"},
		{"pad 0", key, aesTestRawEncrypt(t, key, pad(0)), "invalid padding"},
		{"pad 17", key, aesTestRawEncrypt(t, key, pad(bytes.Repeat([]byte{17}, 17)...)), "invalid padding"},
		{"pad 255", key, aesTestRawEncrypt(t, key, pad(255)), "invalid padding"},
		{"pad mismatch", key, aesTestRawEncrypt(t, key, pad(3, 2, 3)), "invalid padding"},
		{"pad mismatch first", key, aesTestRawEncrypt(t, key, pad(15, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16)), "invalid padding"},
	}
	secrets := []string{hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), string(key)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pt, err := DecryptContent(tt.key, tt.in)
			if err == nil {
				t.Fatalf("got plaintext %q, want an error", pt)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "alipay: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want one starting with \"alipay: \" and containing %q", msg, tt.want)
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error %q shows the key", msg)
				}
			}
		})
	}
}

func TestDecryptContentPadding(t *testing.T) {
	t.Parallel()
	_, key := aesTestVectors(t)
	// Every valid padding length, including a whole block of padding.
	for n := 1; n <= aes.BlockSize; n++ {
		buf := append(bytes.Repeat([]byte{'a'}, 2*aes.BlockSize-n), bytes.Repeat([]byte{byte(n)}, n)...)
		got, err := DecryptContent(key, aesTestRawEncrypt(t, key, buf))
		if err != nil {
			t.Errorf("padding %d: %v", n, err)
			continue
		}
		if len(got) != len(buf)-n {
			t.Errorf("padding %d: plaintext is %d bytes, want %d", n, len(got), len(buf)-n)
		}
	}
}

func TestEncryptContentBadKey(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 8, 15, 17, 64} {
		ct, err := EncryptContent(make([]byte, n), []byte("{}"))
		if err == nil {
			t.Errorf("key of %d bytes: got %q, want an error", n, ct)
			continue
		}
		if want := fmt.Sprintf("alipay: AES key is %d bytes", n); !strings.HasPrefix(err.Error(), want) {
			t.Errorf("key of %d bytes: error %q, want it to start with %q", n, err, want)
		}
	}
}

func ExampleEncryptContent() {
	key, err := ParseAESKey("AAECAwQFBgcICQoLDA0ODw==") // a test key
	if err != nil {
		panic(err)
	}
	bizContent, err := EncryptContent(key, []byte(`{"out_trade_no":"ORDER_20240520_0001"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(bizContent)
	// Output: G7PYcjyAquhKW/Z/PmtCC1NUmZfFGXC4t7jTv7gNSFdB8qsbY6yh7VkCGMMe3v9+
}

func ExampleDecryptContent() {
	key, err := ParseAESKey("AAECAwQFBgcICQoLDA0ODw==") // a test key
	if err != nil {
		panic(err)
	}
	node, err := DecryptContent(key, "G7PYcjyAquhKW/Z/PmtCC1NUmZfFGXC4t7jTv7gNSFdB8qsbY6yh7VkCGMMe3v9+")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(node))
	// Output: {"out_trade_no":"ORDER_20240520_0001"}
}

func FuzzDecryptContent(f *testing.F) {
	v, key := aesTestVectors(f)
	f.Add(key, v.Request.Ciphertext)
	f.Add(key, v.Response.Ciphertext)
	f.Add(key, "")
	f.Add(key[:15], v.Request.Ciphertext)
	f.Add(bytes.Repeat(key, 2), "AAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, key []byte, ciphertext string) {
		pt, err := DecryptContent(key, ciphertext)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "alipay: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			return
		}
		again, err := EncryptContent(key, pt)
		if err != nil {
			t.Fatalf("decrypted, but cannot re-encrypt: %v", err)
		}
		if again != ciphertext {
			t.Errorf("re-encrypting gave\n%s\nwant\n%s", again, ciphertext)
		}
	})
}

func FuzzParseAESKey(f *testing.F) {
	f.Add("AAECAwQFBgcICQoLDA0ODw==")
	f.Add(" AAECAwQFBgcICQoLDA0ODw==\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := ParseAESKey(s)
		if err != nil {
			return
		}
		if err := aesCheckKey(key); err != nil {
			t.Fatalf("ParseAESKey(%q) accepted a bad key: %v", s, err)
		}
		// The decoder skips line breaks, as encoding/base64 does.
		want := strings.NewReplacer("\r", "", "\n", "").Replace(strings.TrimSpace(s))
		if got := base64.StdEncoding.EncodeToString(key); got != want {
			t.Errorf("ParseAESKey(%q) = %x, which encodes as %q", s, key, got)
		}
	})
}
