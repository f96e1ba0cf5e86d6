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
    auth_sessions (id) {
        id -> Text,
        user_id -> Text,
        device_id -> Text,
        created_at -> BigInt,
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

diesel::table! {
    patient_streams (patient_id) {
        patient_id -> Text,
        head -> BigInt,
    }
}

diesel::table! {
    ops (id) {
        id -> Text,
        patient_id -> Text,
        kind -> Text,
        doc_id -> Text,
        field -> Text,
        value -> Text,
        hlc -> Text,
        device_seq -> BigInt,
        author_id -> Text,
        device_id -> Text,
        received_at -> BigInt,
        seq -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// A view of `ops`: the winning op of every field.
    field_state (patient_id, kind, doc_id, field) {
        patient_id -> Text,
        kind -> Text,
        doc_id -> Text,
        field -> Text,
        value -> Text,
        hlc -> Text,
        op_id -> Text,
        device_id -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    device_receipts (device_id) {
        device_id -> Text,
        high_water -> BigInt,
    }
}

diesel::table! {
    device_pending_seqs (device_id, seq) {
        device_id -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    checkins (patient_id, doc_id) {
        patient_id -> Text,
        doc_id -> Text,
        deleted -> Bool,
        recorded_at -> Nullable<BigInt>,
        tz_offset_min -> Nullable<Integer>,
        local_day -> Nullable<Integer>,
        local_hour -> Nullable<Integer>,
        local_weekday -> Nullable<Integer>,
        intensity -> Nullable<Integer>,
        mood -> Nullable<Integer>,
        lapse -> Nullable<Bool>,
        substance -> Nullable<Text>,
        context -> Nullable<Text>,
        crisis -> Bool,
        note -> Nullable<Text>,
        triggers -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    exercises (patient_id, doc_id) {
        patient_id -> Text,
        doc_id -> Text,
        deleted -> Bool,
        skill -> Nullable<Text>,
        started_at -> Nullable<BigInt>,
        tz_offset_min -> Nullable<Integer>,
        local_day -> Nullable<Integer>,
        local_hour -> Nullable<Integer>,
        duration_min -> Nullable<Integer>,
        craving_before -> Nullable<Integer>,
        craving_after -> Nullable<Integer>,
        helpfulness -> Nullable<Integer>,
        note -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sessions (patient_id, doc_id) {
        patient_id -> Text,
        doc_id -> Text,
        deleted -> Bool,
        kind -> Nullable<Text>,
        title -> Nullable<Text>,
        starts_at -> Nullable<BigInt>,
        duration_min -> Nullable<Integer>,
        location -> Nullable<Text>,
        telehealth_url -> Nullable<Text>,
        status -> Nullable<Text>,
        rsvp -> Nullable<Text>,
        rsvp_note -> Nullable<Text>,
        attendance -> Nullable<Text>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    consents (id) {
        id -> Text,
        patient_id -> Text,
        grantee -> Text,
        counselor_id -> Nullable<Text>,
        purpose -> Text,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    access_log (id) {
        id -> Text,
        patient_id -> Text,
        actor_id -> Text,
        actor_role -> Text,
        action -> Text,
        consent_id -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    tracks (id) {
        id -> Text,
        clinic_id -> Text,
        created_by -> Text,
        name -> Text,
        time_zone -> Text,
        population -> Text,
        start_date -> Text,
        weeks -> Integer,
        schedule -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    track_enrollments (track_id, patient_id) {
        track_id -> Text,
        patient_id -> Text,
        enrolled_by -> Text,
        enrolled_at -> BigInt,
    }
}

diesel::table! {
    dashboard_sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        device_id -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
        ended_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(users -> clinics (clinic_id));
diesel::joinable!(devices -> users (user_id));
diesel::joinable!(refresh_tokens -> devices (device_id));
diesel::joinable!(enrollment_codes -> users (patient_id));

diesel::allow_tables_to_appear_in_same_query!(
    clinics,
    dashboard_sessions,
    users,
    devices,
    refresh_tokens,
    auth_sessions,
    care_team,
    enrollment_codes,
    rate_limits,
    patient_streams,
    ops,
    field_state,
    device_receipts,
    device_pending_seqs,
    checkins,
    exercises,
    sessions,
    consents,
    access_log,
    tracks,
    track_enrollments,
);
