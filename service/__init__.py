"""The product's prediction service (BentoML), behind login: `service.service:PriorityService`."""
