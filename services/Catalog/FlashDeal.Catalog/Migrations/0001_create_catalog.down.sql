DROP TABLE best_sellers;
DROP TABLE deals;
DROP TABLE products;
