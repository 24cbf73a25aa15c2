"""CSV and vCard import of customers, products, assets and cases; CSV and vCard export of filtered lists."""
