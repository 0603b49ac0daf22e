-- Package and item rows check their asset at commit, as on SQLite (where
-- an immediate foreign key costs a statement journal per insert; here it
-- only keeps the two stores' behaviour the same).
ALTER TABLE packages ALTER CONSTRAINT packages_asset_id_fkey DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE items ALTER CONSTRAINT items_asset_id_fkey DEFERRABLE INITIALLY DEFERRED;
