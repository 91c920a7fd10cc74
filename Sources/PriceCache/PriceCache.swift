// PriceCache: see README.
