//! Diesel table definitions, identical on SQLite and PostgreSQL. Only types both backends share:
//! ids are UUID text, times are BIGINT milliseconds UTC, enums are text.

diesel::table! {
    clinics (id) {
        id -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        clinic_id -> Text,
        role -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        created_at -> BigInt,
        activated_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    devices (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Text,
        family_id -> Text,
        user_id -> Text,
        device_id -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    care_team (counselor_id, patient_id) {
        counselor_id -> Text,
        patient_id -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    enrollment_codes (id) {
        id -> Text,
        patient_id -> Text,
        code_hash -> Text,
        created_by -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    rate_limits (bucket) {
        bucket -> Text,
        window_start -> BigInt,
        hits -> Integer,
    }
}

diesel::joinable!(users -> clinics (clinic_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(refresh_tokens -> devices (device_id));
diesel::joinable!(enrollment_codes -> users (patient_id));

diesel::allow_tables_to_appear_in_same_query!(
    clinics,
    users,
    devices,
    refresh_tokens,
    care_team,
    enrollment_codes,
    rate_limits,
);
