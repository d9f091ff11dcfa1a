package alipay

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Content encryption (encrypt_type=AES) encrypts a request's biz_content and
// a response's <method>_response node with AES in CBC mode under the key
// set in the Alipay console. The IV is 16 zero bytes, the plaintext is
// padded as in PKCS #7, and the ciphertext is carried in standard, padded
// base64. The zero IV makes the scheme deterministic: equal plaintexts give
// equal ciphertexts. It protects the content from eavesdroppers, not from
// tampering; the RSA signature does that.

// ParseAESKey decodes the content-encryption key as the Alipay console shows
// it: standard, padded base64 of 16 bytes (AES-128). Keys of 24 and 32 bytes
// (AES-192, AES-256) are accepted as well. Leading and trailing white space
// is ignored, and so are line breaks, as by [encoding/base64].
func ParseAESKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("alipay: AES key is not standard base64: %w", err)
	}
	if err := aesCheckKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

// EncryptContent encrypts plaintext under key for encrypt_type=AES and
// returns the base64 ciphertext. In a request, the ciphertext replaces the
// biz_content JSON before the request is signed.
func EncryptContent(key, plaintext []byte) (string, error) {
	block, err := aesNewCipher(key)
	if err != nil {
		return "", err
	}
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+n)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	var iv [aes.BlockSize]byte
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// DecryptContent decrypts the base64 ciphertext of an encrypt_type=AES
// response node under key and returns the plaintext.
//
// The ciphertext must be standard, padded base64 without line breaks, of a
// non-empty multiple of 16 bytes, and must decrypt to valid padding. As
// nothing authenticates the ciphertext, valid padding does not prove that
// the key is right: verify the response signature too.
func DecryptContent(key []byte, ciphertext string) ([]byte, error) {
	block, err := aesNewCipher(key)
	if err != nil {
		return nil, err
	}
	// The decoder skips CR and LF; refuse them so that a ciphertext has
	// exactly one accepted spelling.
	if strings.ContainsAny(ciphertext, "\r\n") {
		return nil, errors.New("alipay: AES ciphertext contains a line break")
	}
	buf, err := base64.StdEncoding.Strict().DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("alipay: AES ciphertext is not standard base64: %w", err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("alipay: AES ciphertext is %d bytes, want a non-zero multiple of %d", len(buf), aes.BlockSize)
	}
	var iv [aes.BlockSize]byte
	cipher.NewCBCDecrypter(block, iv[:]).CryptBlocks(buf, buf)
	n, ok := aesPadding(buf[len(buf)-aes.BlockSize:])
	if !ok {
		return nil, errors.New("alipay: AES decryption failed: invalid padding (wrong key or corrupted ciphertext)")
	}
	return buf[:len(buf)-n], nil
}

// aesPadding returns the length of the PKCS #7 padding at the end of last,
// the final block, and whether the padding is valid: its length n is from 1
// to 16 and its last n bytes all equal n. It takes the same time whatever
// the block holds.
func aesPadding(last []byte) (n int, ok bool) {
	n = int(last[len(last)-1])
	good := subtle.ConstantTimeLessOrEq(1, n) & subtle.ConstantTimeLessOrEq(n, len(last))
	for i := range last {
		inPad := subtle.ConstantTimeLessOrEq(len(last)-i, n)
		same := subtle.ConstantTimeByteEq(last[i], byte(n))
		// Outside the padding any byte is fine; inside it must equal n.
		good &= same | (inPad ^ 1)
	}
	return n, good == 1
}

// aesNewCipher returns the AES block cipher for key.
func aesNewCipher(key []byte) (cipher.Block, error) {
	if err := aesCheckKey(key); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("alipay: AES key: %w", err)
	}
	return block, nil
}

// aesCheckKey reports an error unless key has an AES key length. The error
// gives the length, never the key.
func aesCheckKey(key []byte) error {
	switch len(key) {
	case 16, 24, 32:
		return nil
	}
	return fmt.Errorf("alipay: AES key is %d bytes, want 16 (AES-128), 24 or 32", len(key))
}
