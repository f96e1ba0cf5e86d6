-- PostgreSQL only (its keys compare as bytes from here on); SQLite has always compared text as
-- bytes (BINARY), so nothing changes here. The migration exists so both backends keep one history.
SELECT 1;
