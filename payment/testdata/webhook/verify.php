<?php
// verify.php checks a zhifu webhook signature with PHP's own hash_hmac,
// independently of the Go code that signs: payment's tests run it on the
// requests they receive. docs/webhooks.md shows the function between the
// BEGIN and END lines verbatim (a test checks it).
//
// Usage: ZHIFU_WEBHOOK_SECRET=<secret> php verify.php <Zhifu-Signature> <body file> [now (unix s)] [tolerance (s)]
// Prints "ok" and exits 0 when the signature verifies; prints "invalid: ..."
// and exits 1 when it does not, 2 on bad usage.
declare(strict_types=1);

// BEGIN verify_zhifu_signature
function verify_zhifu_signature(string $secret, string $header, string $body, int $now, int $tolerance = 300): bool
{
    $t = null;
    $sigs = [];
    foreach (explode(',', $header) as $part) {
        $kv = explode('=', trim($part), 2);
        if (count($kv) !== 2) {
            return false;
        }
        if ($kv[0] === 't') { $t = $kv[1]; }
        if ($kv[0] === 'v1') { $sigs[] = $kv[1]; }
    }
    if ($t === null || !ctype_digit($t) || abs($now - (int)$t) > $tolerance) {
        return false;
    }
    $expected = hash_hmac('sha256', $t . '.' . $body, $secret);
    foreach ($sigs as $sig) {
        if (hash_equals($expected, strtolower($sig))) {
            return true;
        }
    }
    return false;
}
// END verify_zhifu_signature

function main(array $argv): int
{
    $secret = getenv('ZHIFU_WEBHOOK_SECRET');
    if ($secret === false || $secret === '' || count($argv) < 3) {
        fwrite(STDERR, "usage: ZHIFU_WEBHOOK_SECRET=<secret> php verify.php <Zhifu-Signature> <body file> [now] [tolerance]\n");
        return 2;
    }
    $body = file_get_contents($argv[2]);
    if ($body === false) {
        fwrite(STDERR, "cannot read {$argv[2]}\n");
        return 2;
    }
    $now = count($argv) > 3 ? (int)$argv[3] : time();
    $tolerance = count($argv) > 4 ? (int)$argv[4] : 300;
    if (!verify_zhifu_signature($secret, $argv[1], $body, $now, $tolerance)) {
        echo "invalid: the signature does not verify\n";
        return 1;
    }
    echo "ok\n";
    return 0;
}

exit(main($argv));
