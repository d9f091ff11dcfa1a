package shop

import (
	"fmt"
	"regexp"

	"zhifu/alipay"
)

// Product is one thing the shop sells.
type Product struct {
	// ID names the product in URLs and forms: 1 to 32 lower-case letters,
	// digits and dashes.
	ID string
	// Name and NameEN are the product's names in Chinese and English,
	// shown side by side; Name is also the order's subject at Alipay.
	Name, NameEN string
	// Description is one line about the product, shown under its name.
	Description string
	// Price is what the product costs, in fen.
	Price alipay.Amount
	// Picture names the drawing shown for the product, one of Pictures.
	// Default: "gift".
	Picture string
}

// Pictures lists the drawings a Product can show. They are inline SVG in
// the shop's templates, so that the shop needs no image from anywhere.
func Pictures() []string { return []string{"tea", "mooncake", "lantern", "gift"} }

// DefaultProducts returns the products of the demo: a few things at prices
// that show how amounts are printed (whole yuan, fen, a single fen).
func DefaultProducts() []Product {
	return []Product{
		{ID: "longjing", Name: "西湖龙井 50g", NameEN: "West Lake Longjing tea, 50 g", Description: "明前新茶 · first flush", Price: 12800, Picture: "tea"},
		{ID: "mooncake", Name: "莲蓉月饼", NameEN: "Lotus seed mooncake", Description: "一盒四个 · box of four", Price: 6880, Picture: "mooncake"},
		{ID: "lantern", Name: "红灯笼", NameEN: "Red paper lantern", Description: "手工制作 · handmade", Price: 1999, Picture: "lantern"},
		{ID: "sticker", Name: "测试贴纸", NameEN: "Test sticker", Description: "一分钱试付 · a one-fen test payment", Price: 1, Picture: "gift"},
	}
}

// productIDPattern is what a Product.ID may look like.
var productIDPattern = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// checkProducts checks the products a shop is given: ids well formed and
// unique, names present, prices Alipay accepts, pictures known.
func checkProducts(products []Product) error {
	if len(products) == 0 {
		return fmt.Errorf("shop: Config.Products is empty: give at least one product, or leave it nil for DefaultProducts")
	}
	known := map[string]bool{}
	for _, p := range Pictures() {
		known[p] = true
	}
	seen := map[string]bool{}
	for i, p := range products {
		switch {
		case !productIDPattern.MatchString(p.ID):
			return fmt.Errorf("shop: product %d: id %q: want 1 to 32 lower-case letters, digits and dashes", i, p.ID)
		case seen[p.ID]:
			return fmt.Errorf("shop: product id %q appears twice", p.ID)
		case p.Name == "" || p.NameEN == "":
			return fmt.Errorf("shop: product %q: Name and NameEN are both required", p.ID)
		case p.Picture != "" && !known[p.Picture]:
			return fmt.Errorf("shop: product %q: unknown picture %q (want one of %v)", p.ID, p.Picture, Pictures())
		}
		if err := p.Price.CheckTradeAmount(); err != nil {
			return fmt.Errorf("shop: product %q: price: %w", p.ID, err)
		}
		seen[p.ID] = true
	}
	return nil
}

// yuan prints an amount as the shop shows it: "¥12.34".
func yuan(a alipay.Amount) string { return "¥" + a.String() }
