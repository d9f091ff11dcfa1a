package sandbox

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"zhifu/alipay"
)

// userIDPattern matches an Alipay user id (seller_id, buyer_id): 2088 and
// twelve more digits.
var userIDPattern = regexp.MustCompile(`^2088[0-9]{12}$`)

// App is a merchant app registered with the sandbox.
type App struct {
	// AppID is the app id (required, at most 32 printable ASCII
	// characters).
	AppID string
	// AppPublicKey verifies the app's requests (required, at least 2048
	// bits). In certificate mode it is the key of the app certificate.
	AppPublicKey *rsa.PublicKey
	// SignType is the algorithm the sandbox signs this app's responses and
	// returns with. Default: RSA2. Requests are verified with the sign_type
	// they name.
	SignType alipay.SignType
	// SellerID is the merchant's user id, "2088" and 12 digits. Default:
	// generated.
	SellerID string
	// EncryptKey is the app's AES content-encryption key as the console
	// shows it (base64). Optional: without it, encrypt_type=AES requests
	// are refused.
	EncryptKey string

	// AppCertSN, AlipayRootCertSN and AlipayCertSN switch the app to
	// certificate mode: requests must carry app_cert_sn == AppCertSN and
	// alipay_root_cert_sn == AlipayRootCertSN, and responses carry
	// alipay_cert_sn = AlipayCertSN. Set all three or none.
	AppCertSN        string
	AlipayRootCertSN string
	AlipayCertSN     string

	aesKey []byte // decoded EncryptKey
}

// certMode reports whether the app uses certificate mode.
func (a *App) certMode() bool { return a.AppCertSN != "" }

// appRegistry holds the apps by id.
type appRegistry struct {
	mu   sync.RWMutex
	apps map[string]*App
}

func (r *appRegistry) get(id string) *App {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.apps[id]
}

// AddApp registers app. Its SellerID is generated when empty; the app id
// must not be registered already.
func (s *Sandbox) AddApp(app App) error { return s.putApp(app, false) }

// PutApp registers app, replacing the app of the same id if there is one
// (its keys or certificate mode change; its trades stay). A SellerID left
// empty keeps the replaced app's, so that seller_id does not change.
func (s *Sandbox) PutApp(app App) error { return s.putApp(app, true) }

func (s *Sandbox) putApp(app App, replace bool) error {
	if err := app.check(); err != nil {
		return err
	}
	if app.SignType == "" {
		app.SignType = alipay.SignTypeRSA2
	}
	id, err := newUserID()
	if err != nil {
		return err
	}
	s.apps.mu.Lock()
	old := s.apps.apps[app.AppID]
	switch {
	case old != nil && !replace:
		s.apps.mu.Unlock()
		return fmt.Errorf("sandbox: app %q is already registered", app.AppID)
	case app.SellerID != "":
	case old != nil:
		app.SellerID = old.SellerID
	default:
		app.SellerID = id
	}
	s.apps.apps[app.AppID] = &app
	s.apps.mu.Unlock()
	s.stateChanged()
	return nil
}

// App returns the registered app of appID, with its generated fields
// filled in.
func (s *Sandbox) App(appID string) (App, bool) {
	a := s.apps.get(appID)
	if a == nil {
		return App{}, false
	}
	return *a, true
}

// check validates app and decodes its AES key.
func (app *App) check() error {
	if n := len(app.AppID); n == 0 || n > 32 {
		return fmt.Errorf("sandbox: App.AppID %q must have 1 to 32 characters", app.AppID)
	}
	for i := 0; i < len(app.AppID); i++ {
		if c := app.AppID[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("sandbox: App.AppID %q may hold only printable ASCII", app.AppID)
		}
	}
	if app.AppPublicKey == nil {
		return errors.New("sandbox: App.AppPublicKey is nil")
	}
	if bits := app.AppPublicKey.N.BitLen(); bits < alipay.MinKeyBits {
		return fmt.Errorf("sandbox: App.AppPublicKey has %d bits; Alipay takes %d or more", bits, alipay.MinKeyBits)
	}
	switch app.SignType {
	case "", alipay.SignTypeRSA2, alipay.SignTypeRSA:
	default:
		return fmt.Errorf("sandbox: App.SignType %q is neither RSA2 nor RSA", app.SignType)
	}
	if app.SellerID != "" && !userIDPattern.MatchString(app.SellerID) {
		return fmt.Errorf("sandbox: App.SellerID %q is not 2088 and 12 digits", app.SellerID)
	}
	if app.EncryptKey != "" {
		k, err := alipay.ParseAESKey(app.EncryptKey)
		if err != nil {
			return fmt.Errorf("sandbox: App.EncryptKey: %w", err)
		}
		app.aesKey = k
	}
	set := 0
	for _, sn := range []string{app.AppCertSN, app.AlipayRootCertSN, app.AlipayCertSN} {
		if sn != "" {
			set++
		}
	}
	if set != 0 && set != 3 {
		return errors.New("sandbox: certificate mode needs App.AppCertSN, App.AlipayRootCertSN and App.AlipayCertSN; set all three or none")
	}
	return nil
}
