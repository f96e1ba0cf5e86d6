DROP TABLE pull_positions;
DROP TABLE pull_cursors;
