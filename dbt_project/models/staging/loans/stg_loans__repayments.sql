-- One row per loan or card instalment; a later delivery (payment, more days past due) wins.
with

source as (
    {{ latest_delivery(source('loans', 'repayments'), ['repayment_id']) }}
),

renamed as (
    select
        -- ids
        repayment_id,
        account_id,

        -- numerics
        cast(amount_due as decimal(18, 2)) as amount_due,
        cast(amount_paid as decimal(18, 2)) as amount_paid,
        cast(days_past_due as integer) as days_past_due,

        -- dates
        cast(due_date as date) as due_date,
        cast(paid_date as date) as paid_date,
        cast(_business_date as date) as delivered_date

    from source
),

final as (
    select * from renamed
)

select * from final
