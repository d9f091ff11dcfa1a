// verify.js checks a zhifu webhook signature with Node's own crypto
// module, independently of the Go code that signs: payment's tests run it
// on the requests they receive. docs/webhooks.md shows the function
// between the BEGIN and END lines verbatim (a test checks it).
//
// Usage: ZHIFU_WEBHOOK_SECRET=<secret> node verify.js <Zhifu-Signature> <body file> [now (unix s)] [tolerance (s)]
// Prints "ok" and exits 0 when the signature verifies; prints the reason
// and exits 1 when it does not, 2 on bad usage.
'use strict';
const crypto = require('crypto');
const fs = require('fs');

// BEGIN verifyZhifuSignature
// verifyZhifuSignature throws unless header (the Zhifu-Signature header)
// signs body (a Buffer of the raw request body, before JSON.parse) under
// secret, with a timestamp within toleranceSeconds of nowSeconds.
function verifyZhifuSignature(secret, header, body, nowSeconds, toleranceSeconds) {
  let t = null;
  const signatures = [];
  for (const part of String(header).split(',')) {
    const i = part.indexOf('=');
    if (i < 0) throw new Error('malformed Zhifu-Signature header');
    const key = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (key === 't') t = value;
    if (key === 'v1') signatures.push(value);
  }
  if (!/^[0-9]{1,12}$/.test(t || '') || signatures.length === 0) {
    throw new Error('malformed Zhifu-Signature header');
  }
  if (Math.abs(nowSeconds - Number(t)) > toleranceSeconds) {
    throw new Error('timestamp outside the tolerance');
  }
  const expected = crypto.createHmac('sha256', secret).update(t + '.').update(body).digest();
  const ok = signatures.some((s) => {
    const got = Buffer.from(s, 'hex');
    return got.length === expected.length && crypto.timingSafeEqual(got, expected);
  });
  if (!ok) throw new Error('no signature matches');
}
// END verifyZhifuSignature

function main(argv) {
  const secret = process.env.ZHIFU_WEBHOOK_SECRET;
  if (!secret || argv.length < 2) {
    console.error('usage: ZHIFU_WEBHOOK_SECRET=<secret> node verify.js <Zhifu-Signature> <body file> [now] [tolerance]');
    return 2;
  }
  const body = fs.readFileSync(argv[1]);
  const now = argv.length > 2 ? Number(argv[2]) : Math.floor(Date.now() / 1000);
  const tolerance = argv.length > 3 ? Number(argv[3]) : 300;
  try {
    verifyZhifuSignature(secret, argv[0], body, now, tolerance);
  } catch (e) {
    console.log('invalid: ' + e.message);
    return 1;
  }
  console.log('ok');
  return 0;
}

process.exitCode = main(process.argv.slice(2));
