DROP TABLE deal_inventory;
DROP TABLE orders;
