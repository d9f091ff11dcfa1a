// Drives the zhifu sandbox with Alipay's official Node SDK (alipay-sdk,
// pinned in package.json). Run by ../../nodesdk_test.go as
//
//	node script.js config.json
//
// config.json holds the gateway, the app's keys and the requests to make;
// the results are printed as one JSON object on stdout. Any error (a
// response whose signature the SDK refuses included) exits with status 1.
'use strict';

const fs = require('node:fs');
const { AlipaySdk } = require('alipay-sdk');

async function main() {
  const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const sdk = new AlipaySdk({
    appId: cfg.appId,
    // The SDK rebuilds the PEM from the lines between the armour: a
    // trailing newline would break it, so the keys are trimmed.
    privateKey: cfg.appPrivateKey.trim(),
    keyType: 'PKCS8',
    alipayPublicKey: cfg.alipayPublicKey.trim(),
    gateway: cfg.gateway,
    timeout: 30000,
  });
  const out = {};

  // Page pay: the URL the merchant redirects the buyer's browser to.
  out.pagePayURL = sdk.pageExecute('alipay.trade.page.pay', 'GET', {
    bizContent: {
      out_trade_no: cfg.pagePay.outTradeNo,
      product_code: 'FAST_INSTANT_TRADE_PAY',
      total_amount: cfg.pagePay.totalAmount,
      subject: cfg.pagePay.subject,
    },
    returnUrl: cfg.returnUrl,
    notifyUrl: cfg.notifyUrl,
  });

  // Server-to-server calls, the response signatures checked by the SDK.
  out.precreate = await sdk.exec('alipay.trade.precreate', {
    notifyUrl: cfg.notifyUrl,
    bizContent: {
      out_trade_no: cfg.precreate.outTradeNo,
      total_amount: cfg.precreate.totalAmount,
      subject: cfg.precreate.subject,
    },
  }, { validateSign: true });
  out.query = await sdk.exec('alipay.trade.query', {
    bizContent: { out_trade_no: cfg.queryOutTradeNo, query_options: ['fund_bill_list'] },
  }, { validateSign: true });
  out.queryMissing = await sdk.exec('alipay.trade.query', {
    bizContent: { out_trade_no: cfg.missingOutTradeNo },
  }, { validateSign: true });

  // Notifies, as a merchant's notify_url handler checks them.
  out.notifyValid = sdk.checkNotifySignV2(cfg.notify);
  out.notifyTampered = sdk.checkNotifySignV2(cfg.tamperedNotify);

  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  if (err && err.responseDataRaw) console.error('response:', err.responseDataRaw);
  process.exit(1);
});
