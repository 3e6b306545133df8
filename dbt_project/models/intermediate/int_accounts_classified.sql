-- One row per account with its product's category, the category's flags (seed
-- product_categories) and the product's annual margin (seed product_margins):
-- the account -> product classification, joined here once for every model
-- that needs it. A product missing from the catalogue or the margin seed is in
-- no category, not AUM and earns no margin (both warned on the seeds' relationships).
with

accounts as (
    select * from {{ ref('stg_core_banking__accounts') }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

product_categories as (
    select * from {{ ref('product_categories') }}
),

product_margins as (
    select * from {{ ref('product_margins') }}
),

final as (
    select
        -- ids
        accounts.account_id,
        accounts.customer_id,
        accounts.product_code,
        accounts.branch_id,
        accounts.campaign_id,

        -- strings
        products.product_category,
        accounts.currency_code,
        accounts.account_status,

        -- booleans
        coalesce(product_categories.is_aum, false) as is_aum,
        coalesce(product_categories.is_deposit, false) as is_deposit,
        coalesce(product_categories.is_investment, false) as is_investment,
        coalesce(product_categories.is_liability, false) as is_liability,

        -- numerics
        coalesce(product_margins.annual_margin_rate, 0) as annual_margin_rate,
        accounts.term_months,
        accounts.interest_rate,
        accounts.principal_amount,
        accounts.credit_limit,

        -- dates
        accounts.opened_date,
        accounts.closed_date,
        accounts.maturity_date,
        accounts.delivered_date,

        -- timestamps
        accounts.loaded_at,
        accounts.first_loaded_at
    from accounts
    left join products
        on accounts.product_code = products.product_code
    left join product_categories
        on products.product_category = product_categories.product_category
    left join product_margins
        on accounts.product_code = product_margins.product_code
)

select * from final
