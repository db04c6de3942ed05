// Public entry point of the pipeline: the factory registry and the service built from a config.
export { FactoryRegistry, COMPONENT_KINDS, type FactoryOfKind } from './registry';
export { buildService, describePipelines, type Service, type ServiceSettings } from './service';
export { FanoutConsumer, fanout } from './fanout';
