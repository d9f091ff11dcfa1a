package sandbox

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"zhifu/alipay"
)

// Files of Config.DataDir.
const (
	// StateFileName is the file in Config.DataDir that holds the apps,
	// trades, refunds and open checkouts, the notifies still to deliver,
	// the faults and the advance of the clock, as versioned JSON.
	StateFileName = "sandbox-state.json"
	// AlipayKeyFileName is the file in Config.DataDir that holds the
	// sandbox's Alipay private key (PKCS#8 PEM, mode 0600) when
	// Config.AlipayPrivateKey is not set.
	AlipayKeyFileName = "alipay_private_key.pem"
)

// stateVersion is the version of the state file this code writes. A file
// of another version is refused, never silently misread, except version 1,
// which is read as a version 2 without notifies, faults or clock advance
// (what version 2 added; see persist_notify.go). Version 2 is a new
// number, not optional fields of version 1, because zhifu releases that
// read version 1 refuse unknown fields as corruption and would move the
// file aside; a version they do not know they leave in place.
const (
	stateVersion   = 2
	stateVersionV1 = 1
)

// saveDelay is how long the saver gathers changes before it writes them:
// a burst of calls is one write, and no change waits longer than this.
const saveDelay = 100 * time.Millisecond

// stateFile is the JSON of StateFileName. Times are RFC 3339 with their
// instant exact; amounts are Alipay's "12.34" strings.
type stateFile struct {
	Version   int             `json:"version"`
	SavedAt   time.Time       `json:"saved_at"`
	BuyerID   string          `json:"buyer_id"`
	EventSeq  uint64          `json:"event_seq"`
	Apps      []stateApp      `json:"apps"`
	Trades    []stateTrade    `json:"trades"`
	Checkouts []stateCheckout `json:"checkouts"`

	// Since version 2 (persist_notify.go).
	ClockAdvance  string              `json:"clock_advance,omitempty"` // a time.Duration, as "15m0s"
	FaultSeq      uint64              `json:"fault_seq,omitempty"`
	Faults        []stateFault        `json:"faults,omitempty"`
	NotifyFaults  []apiNotifyFault    `json:"notify_faults,omitempty"`
	Notifications []stateNotification `json:"notifications,omitempty"`
}

type stateApp struct {
	AppID            string `json:"app_id"`
	AppPublicKey     string `json:"app_public_key"` // base64 of the SPKI DER
	SignType         string `json:"sign_type"`
	SellerID         string `json:"seller_id"`
	EncryptKey       string `json:"encrypt_key,omitempty"`
	AppCertSN        string `json:"app_cert_sn,omitempty"`
	AlipayRootCertSN string `json:"alipay_root_cert_sn,omitempty"`
	AlipayCertSN     string `json:"alipay_cert_sn,omitempty"`
}

type stateOrder struct {
	AppID          string        `json:"app_id"`
	Method         string        `json:"method"`
	ProductCode    string        `json:"product_code"`
	OutTradeNo     string        `json:"out_trade_no"`
	TotalAmount    alipay.Amount `json:"total_amount"`
	Subject        string        `json:"subject"`
	Body           string        `json:"body,omitempty"`
	Passback       string        `json:"passback_params,omitempty"`
	NotifyURL      string        `json:"notify_url,omitempty"`
	ReturnURL      string        `json:"return_url,omitempty"`
	QuitURL        string        `json:"quit_url,omitempty"`
	BuyerID        string        `json:"buyer_id,omitempty"`
	BuyerOpenID    string        `json:"buyer_open_id,omitempty"`
	StoreID        string        `json:"store_id,omitempty"`
	OperatorID     string        `json:"operator_id,omitempty"`
	TerminalID     string        `json:"terminal_id,omitempty"`
	TimeoutExpress string        `json:"timeout_express,omitempty"`
	TimeExpire     time.Time     `json:"time_expire,omitzero"`
	DefaultTimeout string        `json:"default_timeout"` // a time.Duration, as "2h0m0s"
}

type stateTrade struct {
	Order        stateOrder    `json:"order"`
	TradeNo      string        `json:"trade_no"`
	SellerID     string        `json:"seller_id"`
	Status       string        `json:"trade_status"`
	BuyerID      string        `json:"buyer_id,omitempty"`
	BuyerOpenID  string        `json:"buyer_open_id,omitempty"`
	BuyerLogonID string        `json:"buyer_logon_id,omitempty"`
	GmtCreate    time.Time     `json:"gmt_create"`
	GmtPayment   time.Time     `json:"gmt_payment,omitzero"`
	GmtClose     time.Time     `json:"gmt_close,omitzero"`
	ExpiresAt    time.Time     `json:"expires_at"`
	RefundFee    alipay.Amount `json:"refund_fee"`
	Refunds      []stateRefund `json:"refunds,omitempty"`
}

type stateRefund struct {
	OutRequestNo string        `json:"out_request_no"`
	Amount       alipay.Amount `json:"refund_amount"`
	Reason       string        `json:"refund_reason,omitempty"`
	Gmt          time.Time     `json:"gmt_refund"`
}

type stateCheckout struct {
	Token     string     `json:"token"`
	Order     stateOrder `json:"order"`
	ExpiresAt time.Time  `json:"expires_at"`
}

// persister saves the sandbox's state to Config.DataDir: a change kicks
// the saver goroutine, which writes the state at most saveDelay later.
// shutdown writes the last state and stops the goroutine.
type persister struct {
	path string
	kick chan struct{} // capacity 1: a pending save
	stop chan struct{} // closed by close
	done chan struct{} // closed when the saver has returned

	mu        sync.Mutex
	lastErr   error  // of the last write; nil after a good one
	saved     []byte // the state last written, but for saved_at
	afterSave func() // tests: called after each write attempt
}

// defaultAlipayKey returns the Alipay key kept in dir, creating it on
// first use; without dir, a new key that lives as long as the process.
func defaultAlipayKey(dir string) (*rsa.PrivateKey, error) {
	if dir == "" {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("sandbox: generating the Alipay key: %w", err)
		}
		return k, nil
	}
	path := filepath.Join(dir, AlipayKeyFileName)
	text, err := os.ReadFile(path)
	if err == nil {
		k, err := alipay.ParsePrivateKey(string(text))
		if err != nil {
			return nil, fmt.Errorf("sandbox: %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sandbox: reading the Alipay key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: Config.DataDir: %w", err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("sandbox: generating the Alipay key: %w", err)
	}
	pemText, err := alipay.MarshalPrivateKeyPEM(k)
	if err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(path, pemText, 0o600); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return k, nil
}

// openDataDir loads the state kept in Config.DataDir, if any, and starts
// the saver. Without DataDir it does nothing.
func (s *Sandbox) openDataDir() error {
	dir := s.cfg.DataDir
	if dir == "" {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("sandbox: Config.DataDir: %w", err)
	}
	path := filepath.Join(dir, StateFileName)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("sandbox: reading the saved state: %w", err)
	default:
		if err := s.loadState(data); err != nil {
			return corruptState(path, err)
		}
	}
	p := &persister{path: path, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if st, err := s.snapshotState(); err == nil {
		p.saved, _ = json.Marshal(st)
	}
	s.saver = p
	go s.saveLoop(p)
	return nil
}

// errStateVersion is wrapped when the state file is of a version this
// code does not know: it is not corrupt, and is left in place.
var errStateVersion = errors.New("unknown version")

// corruptState moves the unreadable state file at path aside, so that
// nothing overwrites it, and returns an error naming both files.
func corruptState(path string, err error) error {
	if errors.Is(err, errStateVersion) {
		return fmt.Errorf("sandbox: %s: %w; it was written by another version of zhifu: run that version, or move the file away to start with an empty sandbox", path, err)
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000Z"))
	if rerr := os.Rename(path, aside); rerr != nil {
		return fmt.Errorf("sandbox: %s is corrupt (%v), and it could not be moved aside: %v", path, err, rerr)
	}
	return fmt.Errorf("sandbox: %s is corrupt: %w; it was moved to %s, so that nothing overwrites it: repair it and move it back, or start again with an empty sandbox", path, err, aside)
}

// stateChanged tells the saver that the state changed. It never blocks.
func (s *Sandbox) stateChanged() {
	if s.saver == nil {
		return
	}
	select {
	case s.saver.kick <- struct{}{}:
	default: // a save is pending and will see this change
	}
}

// saveLoop writes the state after every change, gathering the changes of
// saveDelay into one write, until Stop.
func (s *Sandbox) saveLoop(p *persister) {
	defer close(p.done)
	timer := time.NewTimer(saveDelay)
	timer.Stop()
	for {
		select {
		case <-p.stop:
			timer.Stop()
			s.save(p)
			return
		case <-p.kick:
			timer.Reset(saveDelay)
			select {
			case <-timer.C:
				s.save(p)
			case <-p.stop:
				timer.Stop()
				s.save(p)
				return
			}
		}
	}
}

// save writes the state if it changed since the last write. A failure is
// logged and kept for Stop; the next change tries again.
func (s *Sandbox) save(p *persister) {
	st, err := s.snapshotState()
	var same, data []byte
	if err == nil {
		same, err = json.Marshal(st)
	}
	if err == nil && bytes.Equal(same, p.saved) {
		return
	}
	if err == nil {
		st.SavedAt = s.cfg.Now()
		data, err = json.MarshalIndent(st, "", "  ")
	}
	if err == nil {
		err = WriteFileAtomic(p.path, data, 0o600)
	}
	p.mu.Lock()
	p.lastErr = err
	if err == nil {
		p.saved = same
	}
	after := p.afterSave
	p.mu.Unlock()
	if after != nil {
		after()
	}
	if err != nil {
		s.log.Error("sandbox: saving the state", "file", p.path, "err", err)
	}
}

// shutdown stops the saver and writes the state a last time; a nil
// persister (no DataDir) has nothing to do.
func (p *persister) shutdown() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	p.mu.Unlock()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastErr != nil {
		return fmt.Errorf("sandbox: saving the state to %s: %w", p.path, p.lastErr)
	}
	return nil
}

// snapshotState returns the state as the state file holds it, saved_at
// zero.
func (s *Sandbox) snapshotState() (stateFile, error) {
	st := stateFile{Version: stateVersion, BuyerID: s.buyer.id, Apps: []stateApp{}, Trades: []stateTrade{}, Checkouts: []stateCheckout{}}
	s.apps.mu.RLock()
	for _, a := range s.apps.apps {
		key, err := alipay.MarshalPublicKeyBase64(a.AppPublicKey)
		if err != nil {
			s.apps.mu.RUnlock()
			return stateFile{}, err
		}
		st.Apps = append(st.Apps, stateApp{
			AppID: a.AppID, AppPublicKey: key, SignType: string(a.SignType), SellerID: a.SellerID, EncryptKey: a.EncryptKey,
			AppCertSN: a.AppCertSN, AlipayRootCertSN: a.AlipayRootCertSN, AlipayCertSN: a.AlipayCertSN,
		})
	}
	s.apps.mu.RUnlock()

	s.store.mu.Lock()
	st.EventSeq = s.store.seq
	for _, t := range s.store.trades {
		tt := stateTrade{
			Order: exportOrder(t.order), TradeNo: t.tradeNo, SellerID: t.sellerID, Status: string(t.status),
			BuyerID: t.buyerID, BuyerOpenID: t.buyerOpenID, BuyerLogonID: t.buyerLogonID,
			GmtCreate: t.gmtCreate, GmtPayment: t.gmtPayment, GmtClose: t.gmtClose, ExpiresAt: t.expiresAt,
			RefundFee: t.refundFee,
		}
		for _, r := range t.refunds {
			tt.Refunds = append(tt.Refunds, stateRefund{OutRequestNo: r.outRequestNo, Amount: r.amount, Reason: r.reason, Gmt: r.gmt})
		}
		st.Trades = append(st.Trades, tt)
	}
	for _, ck := range s.store.checkouts {
		st.Checkouts = append(st.Checkouts, stateCheckout{Token: ck.token, Order: exportOrder(ck.order), ExpiresAt: ck.expiresAt})
	}
	s.store.mu.Unlock()

	if err := s.snapshotNotify(&st); err != nil {
		return stateFile{}, err
	}

	// Maps have no order: sort, so that equal states are equal bytes.
	sortBy(st.Apps, func(a stateApp) string { return a.AppID })
	sortBy(st.Trades, func(t stateTrade) string { return t.TradeNo })
	sortBy(st.Checkouts, func(c stateCheckout) string { return c.Token })
	return st, nil
}

func exportOrder(o *order) stateOrder {
	return stateOrder{
		AppID: o.appID, Method: o.method, ProductCode: o.productCode, OutTradeNo: o.outTradeNo, TotalAmount: o.totalAmount,
		Subject: o.subject, Body: o.body, Passback: o.passback, NotifyURL: o.notifyURL, ReturnURL: o.returnURL,
		QuitURL: o.quitURL, BuyerID: o.buyerID, BuyerOpenID: o.buyerOpenID, StoreID: o.storeID,
		OperatorID: o.operatorID, TerminalID: o.terminalID, TimeoutExpress: o.timeoutExpress,
		TimeExpire: o.timeExpire, DefaultTimeout: o.defaultTimeout.String(),
	}
}

func (so stateOrder) restore() (*order, error) {
	d, err := time.ParseDuration(so.DefaultTimeout)
	if err != nil {
		return nil, fmt.Errorf("order %s: default_timeout: %w", so.OutTradeNo, err)
	}
	if so.AppID == "" || !outTradeNoPattern.MatchString(so.OutTradeNo) || so.TotalAmount <= 0 {
		return nil, fmt.Errorf("order %q of app %q: missing or invalid app_id, out_trade_no or total_amount", so.OutTradeNo, so.AppID)
	}
	return &order{
		appID: so.AppID, method: so.Method, productCode: so.ProductCode, outTradeNo: so.OutTradeNo, totalAmount: so.TotalAmount,
		subject: so.Subject, body: so.Body, passback: so.Passback, notifyURL: so.NotifyURL, returnURL: so.ReturnURL,
		quitURL: so.QuitURL, buyerID: so.BuyerID, buyerOpenID: so.BuyerOpenID, storeID: so.StoreID,
		operatorID: so.OperatorID, terminalID: so.TerminalID, timeoutExpress: so.TimeoutExpress,
		timeExpire: so.TimeExpire, defaultTimeout: d,
	}, nil
}

// loadState replaces the sandbox's apps and trades with those of the
// state file data. It runs in New, before the sandbox is shared.
func (s *Sandbox) loadState(data []byte) error {
	// The version first: a later version may have fields this one lacks.
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("not JSON of a sandbox state: %w", err)
	}
	if head.Version == 0 {
		return errors.New("no version: not a sandbox state file")
	}
	if head.Version != stateVersion && head.Version != stateVersionV1 {
		return fmt.Errorf("%w %d (this zhifu reads versions %d and %d)", errStateVersion, head.Version, stateVersionV1, stateVersion)
	}
	var st stateFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("not JSON of a sandbox state: %w", err)
	}
	if st.BuyerID != "" {
		if !userIDPattern.MatchString(st.BuyerID) {
			return fmt.Errorf("buyer_id %q is not 2088 and 12 digits", st.BuyerID)
		}
		s.buyer.id = st.BuyerID
	}
	for _, sa := range st.Apps {
		key, err := alipay.ParsePublicKey(sa.AppPublicKey)
		if err != nil {
			return fmt.Errorf("app %q: app_public_key: %w", sa.AppID, err)
		}
		app := &App{
			AppID: sa.AppID, AppPublicKey: key, SignType: alipay.SignType(sa.SignType), SellerID: sa.SellerID,
			EncryptKey: sa.EncryptKey, AppCertSN: sa.AppCertSN, AlipayRootCertSN: sa.AlipayRootCertSN, AlipayCertSN: sa.AlipayCertSN,
		}
		if err := app.check(); err != nil {
			return fmt.Errorf("app %q: %w", sa.AppID, err)
		}
		if _, dup := s.apps.apps[app.AppID]; dup {
			return fmt.Errorf("app %q is listed twice", app.AppID)
		}
		s.apps.apps[app.AppID] = app
	}
	st0 := s.store
	st0.seq = st.EventSeq
	for _, tt := range st.Trades {
		o, err := tt.Order.restore()
		if err != nil {
			return err
		}
		t := &trade{
			order: o, tradeNo: tt.TradeNo, sellerID: tt.SellerID, status: alipay.TradeStatus(tt.Status),
			buyerID: tt.BuyerID, buyerOpenID: tt.BuyerOpenID, buyerLogonID: tt.BuyerLogonID,
			gmtCreate: tt.GmtCreate, gmtPayment: tt.GmtPayment, gmtClose: tt.GmtClose, expiresAt: tt.ExpiresAt,
			refundFee: tt.RefundFee,
		}
		switch t.status {
		case alipay.TradeStatusWaitBuyerPay, alipay.TradeStatusSuccess, alipay.TradeStatusClosed, alipay.TradeStatusFinished:
		default:
			return fmt.Errorf("trade %s: unknown trade_status %q", tt.TradeNo, tt.Status)
		}
		var sum alipay.Amount
		for _, sr := range tt.Refunds {
			t.refunds = append(t.refunds, &refund{outRequestNo: sr.OutRequestNo, amount: sr.Amount, reason: sr.Reason, gmt: sr.Gmt})
			sum += sr.Amount
		}
		if sum != t.refundFee || sum > o.totalAmount {
			return fmt.Errorf("trade %s: refund_fee %s does not match its refunds (%s) and total_amount %s", tt.TradeNo, t.refundFee, sum, o.totalAmount)
		}
		key := tradeKey{o.appID, o.outTradeNo}
		if tt.TradeNo == "" || st0.byTradeNo[tt.TradeNo] != nil || st0.trades[key] != nil {
			return fmt.Errorf("trade %q (out_trade_no %q): empty or listed twice", tt.TradeNo, o.outTradeNo)
		}
		st0.trades[key] = t
		st0.byTradeNo[tt.TradeNo] = t
	}
	for _, sc := range st.Checkouts {
		o, err := sc.Order.restore()
		if err != nil {
			return err
		}
		key := tradeKey{o.appID, o.outTradeNo}
		if sc.Token == "" || st0.checkouts[sc.Token] != nil || st0.checkoutOf[key] != nil {
			return fmt.Errorf("checkout %q (out_trade_no %q): empty or listed twice", sc.Token, o.outTradeNo)
		}
		ck := &checkout{token: sc.Token, order: o, expiresAt: sc.ExpiresAt}
		st0.checkouts[sc.Token] = ck
		st0.checkoutOf[key] = ck
	}
	return s.loadNotify(&st)
}

// sortBy sorts xs by key.
func sortBy[T any](xs []T, key func(T) string) {
	slices.SortFunc(xs, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}

// WriteFileAtomic writes data to path with mode perm so that the file is
// either the old one or the new one whole, never a torn write: it writes
// a temporary file in the same directory, syncs it and renames it over
// path.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	// Make the rename durable; not every system can sync a directory.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
