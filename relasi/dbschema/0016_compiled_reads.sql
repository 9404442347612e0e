-- Functions the compiled read path (relasi/compiler/) calls where the resolvers run Python
-- over stored JSON: segment rules masked, change log names spelled as the API spells them.
-- They read no table.

-- A stored segment rule as a caller without pii:read reads it on the compiled path: the
-- emails and phones it compares against masked exactly as resolvers/segments/masking.py's
-- mask_rule masks them (auth/pii.py's mask_email and mask_phone). The walk follows `spec`,
-- mask_rule's view of the storage mapping (masking.mask_spec), which the caller binds.

CREATE FUNCTION relasi_mask_value(value text, kind text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE kind
        WHEN 'email' THEN left(split_part(value, '@', 1), 1) || '***@'
            || CASE WHEN strpos(value, '@') > 0 THEN substr(value, strpos(value, '@') + 1)
                    ELSE '' END
        ELSE left(value, CASE WHEN left(value, 1) = '+' THEN 3 ELSE 0 END)
            || repeat('*', greatest(length(value) - CASE WHEN left(value, 1) = '+' THEN 3 ELSE 0 END
                                    - CASE WHEN length(value) > 7 THEN 4 ELSE 2 END, 0))
            || right(value, CASE WHEN length(value) > 7 THEN 4 ELSE 2 END)
    END
$$;

CREATE FUNCTION relasi_mask_rule(rule jsonb, ent text, spec jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    this jsonb := spec -> ent;
    masked_rule jsonb := '{}';
    field_name text;
    field_value jsonb;
    masked jsonb;
    kind text;
    term text;
BEGIN
    IF jsonb_typeof(rule) IS DISTINCT FROM 'object' OR this IS NULL THEN
        RETURN rule;
    END IF;
    FOR field_name, field_value IN SELECT e.key, e.value FROM jsonb_each(rule) AS e LOOP
        masked := field_value;
        IF this -> 'pii' ? field_name THEN
            -- operators: each string, or each string of a list, masked
            kind := this -> 'pii' ->> field_name;
            IF jsonb_typeof(field_value) = 'object' THEN
                SELECT coalesce(jsonb_object_agg(o.key, CASE jsonb_typeof(o.value)
                        WHEN 'string' THEN to_jsonb(relasi_mask_value(o.value #>> '{}', kind))
                        WHEN 'array' THEN (
                            SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(a.elem) = 'string'
                                    THEN to_jsonb(relasi_mask_value(a.elem #>> '{}', kind))
                                    ELSE a.elem END ORDER BY a.n), '[]')
                              FROM jsonb_array_elements(o.value) WITH ORDINALITY AS a(elem, n))
                        ELSE o.value END), '{}')
                  INTO masked FROM jsonb_each(field_value) AS o;
            END IF;
        ELSIF this -> 'one' ? field_name THEN
            masked := relasi_mask_rule(field_value, this -> 'one' ->> field_name, spec);
        ELSIF this -> 'many' ? field_name THEN
            IF jsonb_typeof(field_value) = 'object' THEN  -- some / none / every
                SELECT coalesce(jsonb_object_agg(o.key,
                        relasi_mask_rule(o.value, this -> 'many' ->> field_name, spec)), '{}')
                  INTO masked FROM jsonb_each(field_value) AS o;
            END IF;
        ELSIF this -> 'predicates' ? field_name AND jsonb_typeof(field_value) = 'object' THEN
            SELECT coalesce(jsonb_object_agg(o.key,
                    CASE WHEN this -> 'predicates' -> field_name ? o.key
                         THEN relasi_mask_rule(
                             o.value, this -> 'predicates' -> field_name ->> o.key, spec)
                         ELSE o.value END), '{}')
              INTO masked FROM jsonb_each(field_value) AS o;
        ELSIF field_name IN ('and', 'or') AND jsonb_typeof(field_value) = 'array' THEN
            SELECT coalesce(jsonb_agg(relasi_mask_rule(a.elem, ent, spec) ORDER BY a.n), '[]')
              INTO masked FROM jsonb_array_elements(field_value) WITH ORDINALITY AS a(elem, n);
        ELSIF field_name = 'not' THEN
            masked := relasi_mask_rule(field_value, ent, spec);
        ELSIF field_name = 'search' AND (this ->> 'search')::boolean
              AND jsonb_typeof(field_value) = 'string' THEN
            -- free text reaches emails and phones too: masked when it looks like one
            term := field_value #>> '{}';
            masked := to_jsonb(CASE
                WHEN strpos(term, '@') > 0 THEN relasi_mask_value(term, 'email')
                WHEN term ~ '^(\D*\d){5}' THEN relasi_mask_value(term, 'phone')
                ELSE term END);
        END IF;
        masked_rule := masked_rule || jsonb_build_object(field_name, masked);
    END LOOP;
    RETURN masked_rule;
END $$;

-- A stored name as the API spells it (resolvers/model.py's camel): first_name -> firstName.
CREATE FUNCTION relasi_camel(name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT split_part(name, '_', 1) || coalesce((
        SELECT string_agg(initcap(p.part), '' ORDER BY p.n)
          FROM unnest((string_to_array(name, '_'))[2:]) WITH ORDINALITY AS p(part, n)), '')
$$;

-- A change log value with stored names inside (a contact's external identities) as the API
-- spells them, at any depth (resolvers/changes.py's _camel_keys); keys keep their order.
CREATE FUNCTION relasi_camel_keys(value jsonb) RETURNS json
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    found json;
BEGIN
    IF jsonb_typeof(value) = 'object' THEN
        SELECT coalesce(json_object_agg(relasi_camel(o.key), relasi_camel_keys(o.value)
                                        ORDER BY o.n), '{}')
          INTO found FROM jsonb_each(value) WITH ORDINALITY AS o(key, value, n);
        RETURN found;
    ELSIF jsonb_typeof(value) = 'array' THEN
        SELECT coalesce(json_agg(relasi_camel_keys(a.elem) ORDER BY a.n), '[]')
          INTO found FROM jsonb_array_elements(value) WITH ORDINALITY AS a(elem, n);
        RETURN found;
    END IF;
    RETURN value::json;
END $$;
