module zhifu

go 1.26.0

require golang.org/x/text v0.44.0

require github.com/skip2/go-qrcode v0.0.0-20200617195104-da1b6568686e
